/* test_flask.c: a real framework through the core: Flask routing, a JSON
 * POST through wsgi.input, and send_file (which uses wsgi.file_wrapper). */
#include "test.h"

static const char *flask_app =
    "import os\n"
    "from flask import Flask, request, jsonify, send_file\n"
    "app = Flask(__name__)\n"
    "DATA = os.path.join(os.path.dirname(__file__), 'flask.bin')\n"
    "with open(DATA, 'wb') as f:\n"
    "    f.write(bytes(range(256)) * 64)\n"
    "@app.route('/')\n"
    "def index():\n"
    "    return 'hello ' + request.environ['wsgi.url_scheme']\n"
    "@app.route('/echo', methods=['POST'])\n"
    "def echo():\n"
    "    return jsonify(got=request.get_json(), n=request.content_length)\n"
    "@app.route('/file')\n"
    "def file():\n"
    "    return send_file(DATA, mimetype='application/octet-stream')\n"
    "application = app\n";

TEST_IMPL(flask_app) {
  fake_conn *c = test_conn("flaskapp", flask_app, "GET", "/");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_STR_EQ(c->out, "hello http");
  ASSERT_STR_EQ(fake_header(c, "Content-Type"), "text/html; charset=utf-8");
  test_done(c);

  static const char body[] = "{\"a\": [1, 2, 3]}";
  c = test_conn("flaskapp", flask_app, "POST", "/echo");
  fake_var(c, "CONTENT_TYPE", "application/json");
  fake_var(c, "CONTENT_LENGTH", "16");
  c->body = body;
  c->body_len = 16;
  c->read_piece = 5;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_CONTAINS(c->out, "\"got\":{\"a\":[1,2,3]}");
  ASSERT_CONTAINS(c->out, "\"n\":16");
  test_done(c);

  c = test_conn("flaskapp", flask_app, "GET", "/file");
  c->req.enable_sendfile = 1;
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 200);
  ASSERT_EQ(c->file_calls, 1);
  ASSERT_EQ(c->content_length, 16384);
  ASSERT_EQ(c->out_len, 16384u);
  for (size_t i = 0; i < c->out_len; i++)
    ASSERT_EQ((unsigned char)c->out[i], i % 256);
  ASSERT_EQ(c->n_logs, 0);
  test_done(c);

  c = test_conn("flaskapp", flask_app, "GET", "/missing");
  ASSERT_EQ(fake_run(c), 0);
  ASSERT_EQ(c->status, 404);
  test_done(c);
  return 0;
}
