from werkzeug.testapp import test_app as application  # noqa: F401
