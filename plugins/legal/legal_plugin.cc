// placeholder until the plug-in is written
