"""Course tooling for automation and instructors (not needed by learners).

- ``python -m course_utils.tools.nbtools lint|strip|sync notebooks``
- ``python -m course_utils.tools.run``   execute notebooks headless (``make run`` / ``make bench``)
"""
