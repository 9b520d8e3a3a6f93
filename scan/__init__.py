"""`make scan`: the wapiti web scanner against a throwaway demo server (see wapiti_scan.py)."""
