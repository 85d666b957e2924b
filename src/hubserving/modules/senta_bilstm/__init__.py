"""The built-in ``senta_bilstm`` module: a character BiLSTM sentiment classifier trained by this project."""
