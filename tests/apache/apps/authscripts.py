"""WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript hooks."""


def allow_access(environ, host):
    # Denied when the request carries X-Deny; the environ is a real one.
    assert environ["REQUEST_METHOD"] in ("GET", "POST", "HEAD")
    # host: the client address (no HostnameLookups), as mod_wsgi passes it
    return "HTTP_X_DENY" not in environ and host == "127.0.0.1"


def check_password(environ, user, password):
    users = {"alice": "wonderland", "bob": "builder"}
    if user == "carol":
        # mod_wsgi 4.x: a str grants access and replaces the user name.
        return "carol.renamed" if password == "alias" else False
    if user not in users:
        return None
    return users[user] == password


def groups_for_user(environ, user):
    return {"alice": ["admins", "staff"], "bob": ["staff"]}.get(user, [])
