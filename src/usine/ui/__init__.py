"""The claims handler's review page: a Jinja2 template, a stylesheet and a small script."""
