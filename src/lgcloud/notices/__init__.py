"""Bulk notices (通知書の一括作成): a business area hands over its notices (who, and what each
says); this renders them into print-ready PDFs as a batch, sorted for the post, split by
size, each notice recorded against its addressee."""
