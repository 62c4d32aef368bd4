mim install 'mmcv>=2.1.0,<2.2.0'
mim install 'mmdet>=3.2.0,<3.4.0'
# mim install 'mmengine>=0.7.0,<1.1.0'

###### Install MMOCR ######
# Install the stable version of mmocr
git clone https://github.com/open-mmlab/mmocr.git mmocr

# install in non-editable mode
mim install mmocr/ # install with mim to use .mim/configs/ for pre-defined configs/models/datasets
