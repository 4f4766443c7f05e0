import falcon


class Things:
    def on_get(self, req, resp, name):
        resp.media = {"falcon": name, "q": req.get_param("q")}

    def on_post(self, req, resp, name):
        resp.media = {"posted": req.get_media(), "name": name}
        resp.status = falcon.HTTP_201


application = falcon.App()
application.add_route("/things/{name}", Things())
