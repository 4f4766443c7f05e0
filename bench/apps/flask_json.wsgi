# flask: a small Flask JSON view, the kind of request a real app serves.
from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/json")
def json_view():
    return jsonify(message="Hello, World!", status="ok",
                   items=[{"id": i, "name": "item %d" % i} for i in range(5)])


application = app
