import os

from flask import Flask, Response, jsonify, request, send_file, stream_with_context

app = Flask(__name__)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.abspath(__file__)  # a file of known content


@app.route("/form", methods=["GET", "POST"])
def form():
    if request.method == "POST":
        return "name=%s n=%d" % (request.form["name"], len(request.form))
    return '<form method="post"><input name="name"></form>'


@app.route("/json", methods=["POST"])
def json_echo():
    return jsonify(got=request.get_json(), method=request.method)


@app.route("/stream")
def stream():
    who = request.args.get("who", "x")

    def gen():
        for i in range(3):
            yield "%s-%d\n" % (request.args.get("who", who), i)
    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(DATA, mimetype="application/octet-stream",
                     conditional=True, etag=True)


application = app
