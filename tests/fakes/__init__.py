"""Fakes of the services our code talks to, served on 127.0.0.1: nothing leaves the machine."""
