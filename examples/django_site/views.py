import html

from django.http import HttpResponse, JsonResponse


def index(request):
    return HttpResponse("<!doctype html><title>sysgi + Django</title>"
                        "<h1>Hello from Django on sysgi</h1>"
                        "<p>path: %s</p>" % html.escape(request.path))


def hello(request, name):
    return JsonResponse({"hello": name, "method": request.method,
                         "script_name": request.META.get("SCRIPT_NAME"),
                         "path": request.path,
                         "query": request.GET.get("q")})
