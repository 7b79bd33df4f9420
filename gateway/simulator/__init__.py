"""The phone simulator: a basic phone on a web page that dials `/ussd` and calls `/voice`
as Africa's Talking does, for training agents and demonstrating the menus."""
