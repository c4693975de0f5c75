"""The relational database: prediction log tables, repository and migrations."""
