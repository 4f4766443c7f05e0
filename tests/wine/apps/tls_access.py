"""WSGIAccessScript that records what mod_ssl gives the hook environ
(mod_ssl.is_https, mod_ssl.var_lookup, as mod_wsgi's hooks get them) into
the file named by the request's X-Record header, then allows the request."""
import json


def allow_access(environ, host):
    is_https = environ.get("mod_ssl.is_https")
    var_lookup = environ.get("mod_ssl.var_lookup")
    facts = {
        "has_is_https": callable(is_https),
        "has_var_lookup": callable(var_lookup),
        "is_https": bool(is_https()) if callable(is_https) else None,
        "SSL_PROTOCOL": var_lookup("SSL_PROTOCOL") if callable(var_lookup) else None,
        "SSL_CIPHER": var_lookup("SSL_CIPHER") if callable(var_lookup) else None,
        "url_scheme": environ.get("wsgi.url_scheme"),
        "HTTPS_in_environ": "HTTPS" in environ,
    }
    record = environ.get("HTTP_X_RECORD")
    if record:
        with open(record, "w") as f:
            json.dump(facts, f)
    return True
