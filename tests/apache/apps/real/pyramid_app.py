from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    return Response("pyramid hello %s" % request.matchdict["name"])


def js(request):
    return {"pyramid": True, "q": request.params.get("q")}


with Configurator() as config:
    config.add_route("hello", "/hello/{name}")
    config.add_view(hello, route_name="hello")
    config.add_route("json", "/json")
    config.add_view(js, route_name="json", renderer="json")
    application = config.make_wsgi_app()
