"""Run with the Windows python.exe before serving: migrate, then the
equivalent of createsuperuser (non-interactive)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "site-packages"), HERE]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "e2esite.settings")

import django  # noqa: E402

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
User = get_user_model()
if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@example.invalid", sys.argv[1])
print("django", django.get_version(), "users", User.objects.count())
