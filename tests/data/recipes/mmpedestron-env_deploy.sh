pip install fairscale

pip install opencv-python==4.6.0.66

pip install torch==1.8.1+cu101 torchvision==0.9.1+cu101 torchaudio==0.8.1 -f https://download.pytorch.org/whl/torch_stable.html

pip install -r requirements.txt

pip install scipy==1.5.2

pip install torchvision==0.9.1

pip install https://download.openmmlab.com/mmcv/dist/cu101/torch1.8.0/mmcv_full-1.6.1-cp36-cp36m-manylinux1_x86_64.whl

pip install timm==0.6.12

pip install mmdet==2.26.0
