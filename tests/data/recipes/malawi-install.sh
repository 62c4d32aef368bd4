pip install opencv-python --no-cache-dir
pip install torch==1.13.1+cu117 torchvision==0.14.1+cu117 torchaudio==0.13.1 --extra-index-url https://download.pytorch.org/whl/cu117 --no-cache-dir
pip install openmim --no-cache-dir
pip install mmcv-full==1.7.0 -f https://download.openmmlab.com/mmcv/dist/cu117/1.13/index.html --no-cache-dir
pip install fairscale --no-cache-dir
pip install timm --no-cache-dir
pip install yapf==0.40.1 --no-cache-dir
pip install kaggle
