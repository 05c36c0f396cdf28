"""Use cases: one narrow service per capability; servicers convert, call one of these, convert back."""
