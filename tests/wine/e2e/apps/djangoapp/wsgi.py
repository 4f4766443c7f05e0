"""WSGI entry of the Django site. Django (Debian's pure-Python
python3-django and its dependencies) is in ./site-packages, which the test
builds."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for p in (os.path.join(HERE, "site-packages"), HERE):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "e2esite.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
