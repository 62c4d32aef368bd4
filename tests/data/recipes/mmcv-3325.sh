pip install --upgrade setuptools
pip install mmcv
