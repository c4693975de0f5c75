"""Use cases: what a user can do with usine, independent of HTTP and the command line."""
