"""WSGIImportScript: runs in the child before any request."""
import sys

sys._sysgi_imported_at_start = True
