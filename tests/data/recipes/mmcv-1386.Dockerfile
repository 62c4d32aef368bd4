RUN mim install mmcv-full==1.7.0
