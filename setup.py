"""Install DubKernels and the ``dubkernels`` console command."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
VERSION = {}
exec((ROOT / "dubkernels" / "_version.py").read_text(), VERSION)

setup(
    name="dubkernels",
    version=VERSION["__version__"],
    description="Visual dubbing for VFX compositing: change the mouth, keep every other pixel.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["dubkernels", "dubkernels.*"]),
    package_data={"dubkernels.face": ["data/*.csv"], "dubkernels.configs": ["*.json"]},
    install_requires=[
        "numpy>=1.26,<3",
        "torch==2.13.0",
        "kornia==0.9.0",
        "safetensors>=0.4,<1",
        "OpenImageIO>=3.0,<3.3",
        "opencolorio>=2.4,<2.7",
        "fileseq>=2.1,<4",
        "av>=12,<20",
        "dlib-bin>=19.24,<21",
        "face-recognition-models==0.3.0",
        "opencv-python-headless>=4.8,<6",
        "scikit-image>=0.22,<0.27",
        "timecode>=1.4,<2",
        "tqdm>=4.66,<5",
        "matplotlib>=3.7,<4",
        "PyYAML>=6,<7",
        "tomli>=2; python_version < '3.11'",
        # face-recognition-models' setup imports pkg_resources, gone from setuptools 81.
        "setuptools<81",
    ],
    extras_require={
        "test": ["pytest>=8,<10", "mypy>=1.10", "types-nuke==13.2.8.0", "types-PyYAML>=6,<7", "openjd-cli==0.8.0"],
    },
    entry_points={"console_scripts": ["dubkernels = dubkernels.cli.main:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Graphics",
    ],
)
