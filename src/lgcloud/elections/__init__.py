"""選挙人名簿管理 (electoral roll): the first business area built on the common functions."""
