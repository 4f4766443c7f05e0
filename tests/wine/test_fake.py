"""The http.sys front end against the strict fake HTTP Server API
(fake_test.exe = httpsys/ objects + fake_httpapi.c + fake_core.c), for what
Wine's http.sys lacks: streaming with MORE_DATA, HttpSendResponseEntityBody,
file-handle chunks, multi-MB and chunked request bodies, oversized heads,
back-pressure, shutdown. Each scenario prints "ok NAME" or "FAIL NAME: why";
the fake also fails a scenario on any call a real http.sys would reject and
on any buffer touched after its send completed. Completions come after a
small random delay: the seed is in every failure message, and FAKE_SEED=N
in the environment runs the same delays again."""
import os
import re
import subprocess

import pytest

FAKE_TEST = os.environ.get("SYSGI_FAKE_TEST", "")

SCENARIOS = """
hello_is_one_send empty_body stream_unknown_length_more_data
stream_known_length_last_chunk_final eight_mib_response file_handle_chunk
memory_then_file_chunk request_body_5mib chunked_request_body_3mib
request_head_larger_than_buffer repeated_headers_stay_separate
short_body_disconnects body_beyond_content_length_is_cut abort_disconnects
abort_with_length_disconnects
app_error_is_500 no_python_is_503 malformed_escape_is_400
encoded_nul_is_404 cgi_vars client_gone_mid_stream
stray_completion_packets_ignored concurrent_streams
fake_refuses_what_http_sys_refuses stop_after_traffic
mount_split outside_mount_is_404 stop_mount_server
saturated_pool_answers_503 stop_saturated_server
stop_finishes_in_flight_request
path_slashes_and_dot_segments_as_apache authorization_hidden_by_default
pass_authorization mount_after_slash_merge
head_with_content_length_keeps_connection
not_modified_with_content_length_keeps_connection
worker_waits_for_send_completion_signal
next_send_waits_for_previous_completion
failed_receive_is_posted_again
file_chunk_refused_is_sent_from_memory
file_send_failing_late_cancels_request
busy_503_completion_before_send_returns
stop_reports_stuck_worker_and_keeps_queue
stop_posts_no_receive_after_cancelling
""".split()


@pytest.fixture(scope="module")
def run(wine):
    p = subprocess.run(["wine", FAKE_TEST], env=wine, capture_output=True,
                       timeout=600)
    out = p.stdout.decode("utf-8", "replace").replace("\r", "")
    err = p.stderr.decode("utf-8", "replace")
    results = {}
    for line in out.splitlines():
        if line.startswith("ok "):
            results[line[3:].strip()] = None
        elif line.startswith("FAIL "):
            name, _, why = line[5:].partition(": ")
            results[name] = why
    m = re.search(r"FAKE_SEED=(\d+)", err)
    results = {k: (v if v is None else "%s [FAKE_SEED=%s]"
                   % (v, m.group(1) if m else "?"))
               for k, v in results.items()}
    return p.returncode, out, err, results


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(run, name):
    rc, out, err, results = run
    assert name in results, "scenario did not run (crash?)\n%s\n%s" % (
        out, err[-3000:])
    assert results[name] is None, results[name]


def test_program_completed(run):
    rc, out, err, results = run
    m = re.search(r"FAKE_SEED=\d+", err)
    assert "done 0 failure(s)" in out, "%s\n%s%s" % (
        m.group(0) if m else "", out, err[-3000:])
    assert rc == 0
    assert set(results) == set(SCENARIOS)
