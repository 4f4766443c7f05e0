"""A Flask app (Flask from the Windows CPython's site-packages): templates,
JSON, a form POST and a signed session cookie."""
import sys

from flask import Flask, jsonify, render_template_string, request, session

app = Flask(__name__)
app.secret_key = "e2e-not-secret"


@app.route("/")
def index():
    return render_template_string(
        "<h1>Hello {{ name }}</h1><p>{{ items|join(', ') }}</p>",
        name=request.args.get("name", "Flask"), items=["a", "b<c"])


@app.route("/json")
def as_json():
    return jsonify(python=sys.version.split()[0], platform=sys.platform,
                   script_name=request.script_root, path=request.path)


@app.route("/login", methods=["POST"])
def login():
    session["user"] = request.form["user"]
    return "logged in as %s" % session["user"]


@app.route("/me")
def me():
    return "you are %s" % session.get("user", "nobody")


application = app
