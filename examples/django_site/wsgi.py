"""WSGI entry point of the example Django project (Debian's python3-django).

    ./sysgi serve examples/django_site/wsgi.py

mod_wsgi/sysgi load this file by path, so the package's parent directory is
put on sys.path here; with WSGIPythonPath set that line is a no-op.
"""
import os
import sys

_examples = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _examples not in sys.path:
    sys.path.insert(0, _examples)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
