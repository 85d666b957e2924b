"""Module management behind ``hub install|uninstall|list|show|search|run|pack|index``.

Installed modules live under ``$HUB_HOME/modules/<name>/<version>/``; archives and index downloads are
unpacked into a hidden staging folder beside them and renamed into place only once verified.
"""
