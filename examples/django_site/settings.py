"""Settings of a minimal Django project that needs no database."""
SECRET_KEY = "sysgi-example-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_site.urls"
INSTALLED_APPS = []          # no auth/contenttypes/sessions: no database
DATABASES = {}
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
TEMPLATES = []
USE_TZ = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
