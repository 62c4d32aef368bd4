mim install mmcv==1.3.9
