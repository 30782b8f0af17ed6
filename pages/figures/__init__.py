"""The 统计分析 page: the figures of an area over a period, and its 月报 / 周报 downloads."""
