.load
