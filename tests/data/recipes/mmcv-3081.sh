pip install openmim
mim install mmcv-full==1.7.2
