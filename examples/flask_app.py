"""A small Flask application (Debian's python3-flask): one JSON view and one
HTML view.

    ./sysgi serve examples/flask_app.py
    curl http://127.0.0.1:8000/api/items/3?q=x
"""
from flask import Flask, jsonify, render_template_string, request

app = Flask(__name__)

PAGE = """<!doctype html>
<html><head><title>sysgi + Flask</title></head>
<body><h1>Hello from Flask on sysgi</h1>
<ul>{% for i in items %}<li>{{ i }}</li>{% endfor %}</ul>
</body></html>
"""


@app.route("/")
def index():
    return render_template_string(PAGE, items=["one", "two", "<three>"])


@app.route("/api/items/<int:item_id>", methods=["GET", "POST"])
def item(item_id):
    data = request.get_json(silent=True) if request.method == "POST" else None
    return jsonify(id=item_id, name="item-%d" % item_id,
                   query=request.args.get("q"), posted=data,
                   script_name=request.script_root, path=request.path)


# mod_wsgi (and sysgi) look for `application` in the script.
application = app
