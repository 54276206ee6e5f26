"""API extension ``empty-string-filtering`` (descriptor only: it adds no resource)."""

ALIAS = 'empty-string-filtering'
NAME = 'Empty String Filtering Extension'
DESCRIPTION = 'Allow filtering by attributes with empty string value'
