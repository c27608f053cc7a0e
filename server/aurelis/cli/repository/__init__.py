"""The commands about the repository and answer quality: `aurelis context` (what a
completion would send), `aurelis eval` (HumanEval, next-line completion) and doctor's
index line."""
