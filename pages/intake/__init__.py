"""管理 › 接入管理: the intake API's keys and the requests that came in."""
