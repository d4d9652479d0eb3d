"""nbgrader settings of the student's view (`make lab` puts this folder on JUPYTER_CONFIG_PATH,
where nbgrader's server extensions look for nbgrader_config.py).

Validate runs the whole notebook in a fresh kernel; nbgrader gives each cell 30 s by default,
too little for importing TensorFlow on a busy laptop or for the training cells of later labs.
With `make lab EXCHANGE=/path`, the assignment list fetches from and submits to that exchange.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets)

c.Execute.timeout = 1200  # seconds per cell

if os.environ.get("CNN_COURSE_EXCHANGE"):
    c.Exchange.root = os.environ["CNN_COURSE_EXCHANGE"]
    c.CourseDirectory.course_id = "cnn-handwriting"
