"""Data subjects' rights: the register extract (GDPR art. 15) and the information text for
children and guardians (GDPR art. 13/14)."""
