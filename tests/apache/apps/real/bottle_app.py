import bottle

app = bottle.Bottle()


@app.route("/hello/<name>")
def hello(name):
    return "bottle hello %s" % name


@app.post("/form")
def form():
    return {"name": bottle.request.forms.get("name")}


application = app
