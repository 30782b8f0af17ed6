"""The wall screen page (指挥大屏)."""
