"""Static files of the listening-test web app (HTML, JS, CSS), served by listening_test.server."""
