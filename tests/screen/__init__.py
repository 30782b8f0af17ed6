"""The wall screen's figures (services/screen/)."""
