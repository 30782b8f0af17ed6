"""The patrol compliance page (巡查考核)."""
