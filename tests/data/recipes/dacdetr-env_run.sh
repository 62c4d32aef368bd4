pip install tensorboard
pip install timm==0.9.1
pip install wandb==0.16.4
pip install mmcv-full==1.7.1
pip install mmdet==2.28.2
pip install pycocotools
pip install tqdm
pip install cython
pip install scipy

cd models/ops
pip install .
cd ../..
