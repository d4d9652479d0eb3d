"""nbgrader settings of the student's Validate button (`make lab` runs the server in this folder,
where nbgrader's server extensions look for nbgrader_config.py first).

Validate runs the whole notebook in a fresh kernel; nbgrader gives each cell 30 s by default,
too little for importing TensorFlow on a busy laptop or for the training cells of later labs.
"""
c = get_config()  # noqa: F821 (provided by traitlets)

c.Execute.timeout = 1200  # seconds per cell
