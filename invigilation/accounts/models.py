# Roles are Django groups (see roles.py). This module has no models; it exists because
# Django sends post_migrate, which creates the role groups, only to apps with one.
