"""可见测试：在很小的固定输入上运行你的实现，并与写死在本文件中的期望值比较。

每个测试函数接收你定义的函数或类，例如 ``test_affine(Affine)``；全部通过时打印一行
``test_affine：全部通过 ✓``，否则抛出 AssertionError，说明哪里不对（形状、dtype、哪个元素、
是否原地更新……）。你的代码本身抛出的异常（例如还没有填写时的 NotImplementedError）会原样
显示，方便你找到出错的那一行。优化器的测试只比较每次更新之后的参数，不比较你保存的状态。
期望值是事先算好后抄进来的常数，本文件不含答案代码。
通过可见测试不代表满分：评分时还会运行更严格的隐藏测试。

另有两个不计分的检查：check_gradients（梯度检查）和 check_overfit（记住 50 个训练样本）。
"""
import functools
import linecache
import sys
from dataclasses import dataclass, field

import numpy as np

# 比较时的容差 (rtol, atol)，按期望结果的 dtype 区分。
TOLERANCE = {np.dtype(np.float64): (1e-7, 1e-10), np.dtype(np.float32): (1e-5, 1e-6)}

PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")

# ---------------------------------------------------------------------------------------
# 输入和期望输出。每个测试函数只用这些常数。
# ---------------------------------------------------------------------------------------

# initialize_parameters(2, 3, 2, 0.5, dtype=np.float64) 的 W 数组（b 数组全为 0）。
INIT_SMALL_ARGS = (2, 3, 2, 0.5)  # input_size, hidden_size, output_size, weight_init_std
INIT_SMALL_SHAPES = {"W1": (2, 3), "b1": (3,), "W2": (3, 3), "b2": (3,), "W3": (3, 2), "b3": (2,)}
INIT_SMALL_W1 = [
    [0.8121726818316208, -0.3058782068250377, -0.26408587613172785],
    [-0.5364843110780853, 0.43270381466233926, -1.1507693484401413],
]
INIT_SMALL_W2 = [
    [0.87240588210824, -0.3806034504475514, 0.15951954802854929],
    [-0.12468518773870504, 0.731053968522487, -1.030070354748827],
    [-0.16120860200675374, -0.19202717733420782, 0.5668847211677187],
]
INIT_SMALL_W3 = [
    [-0.5499456336570154, -0.08621410377521788],
    [-0.4389292089606859, 0.021106873357796416],
    [0.2914076068579111, -0.5503095886064606],
]
# initialize_parameters(784, 300, 10, 0.01)，dtype 取默认值 float32：形状和几个元素。
INIT_FULL_ARGS = (784, 300, 10, 0.01)
INIT_FULL_SHAPES = {"W1": (784, 300), "b1": (300,), "W2": (300, 300), "b2": (300,),
                    "W3": (300, 10), "b3": (10,)}
INIT_FULL_SAMPLES = {
    ('W1', (0, 0)): 0.016243454,
    ('W1', (783, 299)): -0.019665854,
    ('W2', (0, 0)): 0.0068256627,
    ('W2', (299, 299)): -0.0182239,
    ('W3', (0, 0)): -0.0009650625,
    ('W3', (299, 9)): -0.00106129,
}

# LeakyRelu（alpha = 0.1）：先 forward(x)，再 backward(dout)。
LEAKY_RELU_X = [[1.0, -0.5], [-2.0, 3.0]]
LEAKY_RELU_DOUT = [[0.5, -1.5], [2.0, -0.25]]  # 不是全 1：backward 要乘上 dout
LEAKY_RELU_OUT = [[1.0, -0.05], [-0.2, 3.0]]
LEAKY_RELU_DX = [[0.5, -0.15], [0.2, -0.25]]
# 同样的测试用 float32，输入形状为 (2, 3)，dout 不是常数。
LEAKY_RELU_X_F32 = [[0.5, -1.5, 2.0], [-0.25, 4.0, -3.0]]
LEAKY_RELU_DOUT_F32 = [[1.0, -1.0, 2.0], [0.5, -2.0, 3.0]]
LEAKY_RELU_OUT_F32 = [[0.5, -0.15, 2.0], [-0.025, 4.0, -0.3]]
LEAKY_RELU_DX_F32 = [[1.0, -0.1, 2.0], [0.05, -2.0, 0.3]]

# Affine(W, b)：先 forward(x)，再 backward(dout)。
# 情形 1（全为 1）：l = sum(forward(x)) = 9。
AFFINE_W_ONES = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
AFFINE_B_ONES = [1.0, 1.0, 1.0]
AFFINE_X_ONES = [[1.0, 1.0]]
AFFINE_DOUT_ONES = [[1.0, 1.0, 1.0]]
AFFINE_SUM_ONES = 9.0
AFFINE_OUT_ONES = [[3.0, 3.0, 3.0]]
AFFINE_DX_ONES = [[3.0, 3.0]]
AFFINE_DW_ONES = [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
AFFINE_DB_ONES = [1.0, 1.0, 1.0]
# 情形 2：N = 2 个样本，D = 2 个输入，M = 3 个输出。
AFFINE_W = [[1.0, 2.0, -1.0], [0.5, -1.0, 3.0]]
AFFINE_B = [0.5, -1.0, 2.0]
AFFINE_X = [[1.0, -1.0], [2.0, 0.5]]
AFFINE_DOUT = [[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]]
AFFINE_OUT = [[1.0, 2.0, -2.0], [2.75, 2.5, 1.5]]
AFFINE_DX = [[2.0, -2.5], [3.5, 1.5]]
AFFINE_DW = [[5.0, 2.0, 0.0], [0.0, 0.5, 1.25]]
AFFINE_DB = [3.0, 1.0, -0.5]
# 情形 2 的输入换成形状 (2, 1, 2)：forward 先把 x 展平成 (N, D)，backward 返回的 dx 还原成 x 的形状。
AFFINE_X_SHAPE_3D = (2, 1, 2)
# 情形 3，float32：N = 3，D = 2，M = 2。
AFFINE_W_F32 = [[0.5, -1.0], [2.0, 1.5]]
AFFINE_B_F32 = [0.1, -0.2]
AFFINE_X_F32 = [[1.0, 2.0], [-1.0, 0.5], [0.25, -2.0]]
AFFINE_DOUT_F32 = [[1.0, -1.0], [0.5, 2.0], [-2.0, 0.25]]
AFFINE_OUT_F32 = [[4.6, 1.8], [0.6, 1.55], [-3.775, -3.45]]
AFFINE_DX_F32 = [[1.5, 0.5], [-1.75, 4.0], [-1.25, -3.625]]
AFFINE_DW_F32 = [[0.0, -2.9375], [6.25, -1.5]]
AFFINE_DB_F32 = [-0.5, 1.25]

# ThreeLayerNet(4, 5, 3, weight_init_std=1.0, dtype=np.float64)：predict、loss、gradient。
# dtype 取默认值的 float32 网络应在 float32 精度内给出相同的得分。
NETWORK_SIZES = (4, 5, 3)  # input_size, hidden_size, output_size
NETWORK_WEIGHT_INIT_STD = 1.0
NETWORK_X = [[1.0, -0.5, 0.25, 2.0], [-1.0, 0.5, 1.5, -2.0]]
NETWORK_Y = [0, 2]  # 类别索引
NETWORK_Y_ONEHOT = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]  # 同样的标签，one-hot 形式
NETWORK_SCORES = [
    [-0.049844886090277034, 2.9657708532586433, 4.410699836099938],
    [0.6762566431810196, 0.05568985347044022, 0.5778599011594275],
]
NETWORK_LOSS = 2.8367668516956526
# 把 net.params 中每个 W 的元素原地改成 0.5、每个 b 的元素改成 0.1 之后，predict(x) 的结果。
NETWORK_FILL = {"W": 0.5, "b": 0.1}
NETWORK_SCORES_FILLED = [[9.56875, 9.56875, 9.56875], [0.1, 0.1, 0.1]]
NETWORK_GRAD_B1 = [-0.11436927814472597, -0.007978429981050139, 0.3123889675244679,
                   -0.38664418488217345, 0.7734399264764638]

# 优化器：用一串固定的梯度对同一组参数做三次更新。
OPT_PARAMS0 = {"W": [[1.0, -2.0], [0.5, 3.0]], "b": [0.0, -1.0]}
OPT_GRADS = [
    {"W": [[1.0, 2.0], [-0.5, 4.0]], "b": [0.5, -1.0]},
    {"W": [[2.0, -1.0], [1.0, 0.5]], "b": [-1.0, 2.0]},
    {"W": [[-1.0, 0.5], [3.0, -2.0]], "b": [0.25, 1.0]},
]
# float64 情形的超参数不是默认值：较大的 epsilon 能看出它加在哪里。
# float32 情形用默认超参数和前两个梯度，结果在 *_EXPECTED_F32 里。
ADAGRAD_HYPER = {"learning_rate": 0.1, "epsilon": 0.01}
ADAGRAD_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.900990099009901, -2.099502487562189],
           [0.5980392156862745, 2.9002493765586035]],
     "b": [-0.09803921568627451, -0.900990099009901]},
    # 第 2 次更新之后
    {"W": [[0.8119455990199096, -2.0549802375671935],
           [0.5093894046013961, 2.887876596190265]],
     "b": [-0.009389404601396131, -0.9900345989998924]},
    # 第 3 次更新之后
    {"W": [[0.852604439046963, -2.0767072023425026],
           [0.41597691905373935, 2.9322224941946997]],
     "b": [-0.031022365660123657, -1.0306934390269458]},
]
ADAGRAD_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.999, -2.001],
           [0.501, 2.999]],
     "b": [-0.0009999998, -0.999]},
    # 第 2 次更新之后
    {"W": [[0.9981056, -2.0005527],
           [0.50010556, 2.998876]],
     "b": [-0.00010557269, -0.99989444]},
]

RMSPROP_HYPER = {"learning_rate": 0.1, "epsilon": 0.01, "beta": 0.9}
RMSPROP_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.6934656996828449, -2.311305592414942],
           [0.7974174357598776, 2.6862526247722105]],
     "b": [-0.2974174357598775, -0.6934656996828449]},
    # 第 2 次更新之后
    {"W": [[0.41177555883777445, -2.166005962427439],
           [0.5196396579820998, 2.6452815057985255]],
     "b": [-0.019639657982099712, -0.9751558405279153]},
    # 第 3 次更新之后
    {"W": [[0.5459088592514058, -2.240347583632622],
           [0.22410574695946228, 2.796691621078597]],
     "b": [-0.09079965869462554, -1.1092891409415466]},
]
RMSPROP_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.96837735, -2.0316226],
           [0.5316226, 2.9683774]],
     "b": [-0.031622574, -0.96837735]},
    # 第 2 次更新之后
    {"W": [[0.9400903, -2.017475],
           [0.5033356, 2.964453]],
     "b": [-0.0033355542, -0.9966644]},
]

MOMENTUM_HYPER = {"learning_rate": 0.1, "beta": 0.8}
MOMENTUM_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.9, -2.2],
           [0.55, 2.6]],
     "b": [-0.05, -0.9]},
    # 第 2 次更新之后
    {"W": [[0.62, -2.2600000000000002],
           [0.49000000000000005, 2.23]],
     "b": [0.009999999999999995, -1.02]},
    # 第 3 次更新之后
    {"W": [[0.496, -2.358],
           [0.14200000000000002, 2.134]],
     "b": [0.032999999999999995, -1.216]},
]
MOMENTUM_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.999, -2.002],
           [0.5005, 2.996]],
     "b": [-0.0005, -0.999]},
    # 第 2 次更新之后
    {"W": [[0.9961, -2.0028],
           [0.49995002, 2.9919]],
     "b": [4.9999973e-05, -1.0001]},
]

NESTEROV_HYPER = {"learning_rate": 0.1, "beta": 0.8}
NESTEROV_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.82, -2.36],
           [0.59, 2.28]],
     "b": [-0.09000000000000001, -0.82]},
    # 第 2 次更新之后
    {"W": [[0.3959999999999999, -2.308],
           [0.44199999999999995, 1.9339999999999997]],
     "b": [0.05800000000000001, -1.116]},
    # 第 3 次更新之后
    {"W": [[0.3967999999999999, -2.4364],
           [-0.13640000000000008, 2.0572]],
     "b": [0.05140000000000001, -1.3728000000000002]},
]
NESTEROV_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.9981, -2.0038],
           [0.50095, 2.9924]],
     "b": [-0.00095, -0.9981]},
    # 第 2 次更新之后
    {"W": [[0.99349, -2.00352],
           [0.49945498, 2.98821]],
     "b": [0.00054499996, -1.0010899]},
]

ADAM_HYPER = {"learning_rate": 0.1, "epsilon": 0.01, "beta1": 0.8, "beta2": 0.9}
ADAM_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.900990099009901, -2.099502487562189],
           [0.5980392156862745, 2.9002493765586035]],
     "b": [-0.09803921568627451, -0.900990099009901]},
    # 第 2 次更新之后
    {"W": [[0.8047251199218262, -2.120788505171749],
           [0.5570365396184426, 2.8264885123191137]],
     "b": [-0.0570365396184426, -0.9422465186190759]},
    # 第 3 次更新之后
    {"W": [[0.7690097678634591, -2.1520989870935665],
           [0.48354859488948143, 2.8109263451529634]],
     "b": [-0.042875800707011025, -0.9986998170339141]},
]
ADAM_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.999, -2.001],
           [0.501, 2.999]],
     "b": [-0.0009999998, -0.999]},
    # 第 2 次更新之后
    {"W": [[0.99803483, -2.0012662],
           [0.5006339, 2.9982429]],
     "b": [-0.0006338963, -0.9993661]},
]

ADABELIEF_HYPER = {"learning_rate": 0.1, "epsilon": 0.01, "beta1": 0.8, "beta2": 0.9}
ADABELIEF_EXPECTED = [
    # 第 1 次更新之后
    {"W": [[0.8765432098765432, -2.124223602484472],
           [0.6219512195121951, 2.8753894080996885]],
     "b": [-0.12195121951219512, -0.8765432098765432]},
    # 第 2 次更新之后
    {"W": [[0.7459231139176761, -2.1484041558978517],
           [0.574686456511275, 2.7827660577451305]],
     "b": [-0.07468645651127506, -0.9241454592325818]},
    # 第 3 次更新之后
    {"W": [[0.7041338927742514, -2.18450138872654],
           [0.48052119023651796, 2.764986623071374]],
     "b": [-0.05873156225152415, -0.9925296599347116]},
]
ADABELIEF_EXPECTED_F32 = [
    # 第 1 次更新之后
    {"W": [[0.9988889, -2.001111],
           [0.5011111, 2.998889]],
     "b": [-0.001111111, -0.9988889]},
    # 第 2 次更新之后
    {"W": [[0.99777204, -2.0013947],
           [0.50072, 2.9980414]],
     "b": [-0.00072005007, -0.99928]},
]

# 每个优化器测试需要的一切，按类名索引。
#   hyper、expected：float64 情形的超参数和每次更新之后的期望参数；expected_f32：float32 情形的期望参数；
#   state、counter：课文中的状态属性和是否有更新计数 t。评分只看参数：状态怎样保存都可以，
#   只要参数的变化与公式相同；参数不对时，才读这些属性给出提示。hint：最后显示的公式提示。
OPTIMIZER_CASES = {
    "AdaGrad": {
        "hyper": ADAGRAD_HYPER, "expected": ADAGRAD_EXPECTED, "expected_f32": ADAGRAD_EXPECTED_F32,
        "state": ("grads_squared",), "counter": False,
        "hint": "AdaGrad：grads_squared 要累加每一步的 g*g；更新量是 lr*g/(sqrt(累加值)+epsilon)，"
                "epsilon 加在 sqrt 外面。",
    },
    "RMSprop": {
        "hyper": RMSPROP_HYPER, "expected": RMSPROP_EXPECTED, "expected_f32": RMSPROP_EXPECTED_F32,
        "state": ("grads_squared",), "counter": False,
        "hint": "RMSprop：u = beta*u + (1-beta)*g*g（beta 乘旧的 u，不是 AdaGrad 的直接累加）；"
                "更新量是 lr*g/(sqrt(u)+epsilon)，epsilon 加在 sqrt 外面。",
    },
    "Momentum": {
        "hyper": MOMENTUM_HYPER, "expected": MOMENTUM_EXPECTED, "expected_f32": MOMENTUM_EXPECTED_F32,
        "state": ("v",), "counter": False,
        "hint": "Momentum：v = beta*v + lr*g，然后 p -= v（参数沿梯度的反方向移动）。",
    },
    "Nesterov": {
        "hyper": NESTEROV_HYPER, "expected": NESTEROV_EXPECTED, "expected_f32": NESTEROV_EXPECTED_F32,
        "state": ("v",), "counter": False,
        "hint": "Nesterov：先 v = beta*v + lr*g，再用更新后的 v 做 p -= beta*v + lr*g"
                "（不是 Momentum 的 p -= v）。",
    },
    "Adam": {
        "hyper": ADAM_HYPER, "expected": ADAM_EXPECTED, "expected_f32": ADAM_EXPECTED_F32,
        "state": ("v", "u"), "counter": True,
        "hint": "Adam：v 用 beta1、u 用 beta2（不要交换）；偏差修正 v/(1-beta1**t)、u/(1-beta2**t)，"
                "t 从 1 开始；epsilon 加在 sqrt(修正后的 u) 外面。",
    },
    "AdaBelief": {
        "hyper": ADABELIEF_HYPER, "expected": ADABELIEF_EXPECTED, "expected_f32": ADABELIEF_EXPECTED_F32,
        "state": ("v", "s"), "counter": True,
        "hint": "AdaBelief：先更新 v，再用更新后的 v 计算 s 中的 (g - v)**2（不是 Adam 的 g*g）；"
                "偏差修正 v/(1-beta1**t)、s/(1-beta2**t)，t 从 1 开始；epsilon 加在 sqrt 外面。",
    },
}


# 常见错误和已发表的写法（published）：在上面 float64 的情形中，它们每次更新之后得到的参数（事先算好的常数）。
# 你的参数与其中一种相同时，失败信息会说出是哪一种。
KNOWN_MISTAKES = {
    "AdaGrad": [
        {"title": "d2l《动手学深度学习》的 AdaGrad（ε 在根号内）",
         "explanation": "这是 d2l 的写法：分母为 sqrt(G + epsilon)，而课文的公式是 sqrt(G) + epsilon，梯度很小时两者的步长差别很大。",
         "published": True,
         "params": [
             # 第 1 次更新之后
             {"W": [[0.900496280979001, -2.0998752338877846], [0.598058067569092, 2.900031235359188]],
              "b": [-0.09805806756909201, -0.900496280979001]},
             # 第 2 次更新之后
             {"W": [[0.811142870657247, -2.0551985287269074], [0.5089709869316171, 2.887631576593102]],
              "b": [-0.008970986931617214, -0.9898496913007551]},
             # 第 3 次更新之后
             {"W": [[0.8519337214796472, -2.076999564736755], [0.41531240577344775, 2.932065051163396]],
              "b": [-0.030710117366399826, -1.0306405421231553]},
         ]},
        {"title": "没有使用 epsilon 参数（写死了 1e-7）",
         "explanation": "分母里写死了常数 1e-7，而不是构造时传入的 self.epsilon。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.900000009999999, -2.099999995], [0.599999980000004, 2.9000000025]],
              "b": [-0.09999998000000401, -0.900000009999999]},
             # 第 2 次更新之后
             {"W": [[0.8105572949000072, -2.0552786374500043], [0.5105572689000117, 2.8875965293487718]],
              "b": [-0.010557268900011713, -0.9894427250999908]},
             # 第 3 次更新之后
             {"W": [[0.8513821222797269, -2.0771004255212224], [0.41685301469367725, 2.932040972805562]],
              "b": [-0.03237905601884922, -1.0302675524797105]},
         ]},
        {"title": "更新的方向反了",
         "explanation": "参数应沿梯度的反方向移动（减去更新量）。",
         "params": [
             # 第 1 次更新之后
             {"W": [[1.099009900990099, -1.900497512437811], [0.4019607843137255, 3.0997506234413965]],
              "b": [0.09803921568627451, -1.099009900990099]},
             # 第 2 次更新之后
             {"W": [[1.1880544009800904, -1.9450197624328067], [0.49061059539860385, 3.112123403809735]],
              "b": [0.009389404601396131, -1.0099654010001078]},
             # 第 3 次更新之后
             {"W": [[1.147395560953037, -1.9232927976574974], [0.5840230809462607, 3.0677775058053003]],
              "b": [0.031022365660123657, -0.9693065609730543]},
         ]},
    ],
    "RMSprop": [
        {"title": "d2l《动手学深度学习》的 RMSprop（ε 在根号内）",
         "explanation": "这是 d2l 的写法：分母为 sqrt(u + epsilon)，而课文的公式是 sqrt(u) + epsilon，梯度很小时两者的步长差别很大。",
         "published": True,
         "params": [
             # 第 1 次更新之后
             {"W": [[0.6984886554222364, -2.312347523777212], [0.7672612419124244, 2.6847558375043596]],
              "b": [-0.2672612419124244, -0.6984886554222364]},
             # 第 2 次更新之后
             {"W": [[0.4156459429476173, -2.1664825322793178], [0.49254011401504627, 2.6435864890247287]],
              "b": [0.007459885984953729, -0.9813313678968554]},
             # 第 3 次更新之后
             {"W": [[0.5503635005512154, -2.2411010871468053], [0.19553224691497506, 2.795709636921822]],
              "b": [-0.06283030865448795, -1.1160489255004535]},
         ]},
        {"title": "没有使用 epsilon 参数（写死了 1e-7）",
         "explanation": "分母里写死了常数 1e-7，而不是构造时传入的 self.epsilon。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.6837723339831303, -2.316227716016846], [0.8162275660169644, 2.68377225898316]],
              "b": [-0.3162275660169645, -0.6837723339831303]},
             # 第 2 次更新之后
             {"W": [[0.3980580890851652, -2.168785781601076], [0.5305133619353084, 2.6424626431575278]],
              "b": [-0.030513361935308514, -0.9694865788810954]},
             # 第 3 次更新之后
             {"W": [[0.5340150062639721, -2.244249409270679], [0.23203917216097508, 2.7950277418466616]],
              "b": [-0.1037581823897183, -1.1054434960599022]},
         ]},
        {"title": "每次 update 都重置了状态",
         "explanation": "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.6934656996828449, -2.311305592414942], [0.7974174357598776, 2.6862526247722105]],
              "b": [-0.2974174357598775, -0.6934656996828449]},
             # 第 2 次更新之后
             {"W": [[0.38216010726790317, -2.0047712920977867], [0.49088313544272244, 2.388835189012333]],
              "b": [0.009116864557277615, -1.0047712920977867]},
             # 第 3 次更新之后
             {"W": [[0.6886944075850583, -2.302188727857664], [0.1779539328478183, 2.700140781427275]],
              "b": [-0.27160240985007805, -1.311305592414942]},
         ]},
    ],
    "Momentum": [
        {"title": "更新的方向反了",
         "explanation": "参数应沿梯度的反方向移动：v 里已经乘了学习率，参数要减去 v。",
         "params": [
             # 第 1 次更新之后
             {"W": [[1.1, -1.8], [0.45, 3.4]],
              "b": [0.05, -1.1]},
             # 第 2 次更新之后
             {"W": [[1.3800000000000001, -1.74], [0.51, 3.77]],
              "b": [-0.009999999999999995, -0.9800000000000001]},
             # 第 3 次更新之后
             {"W": [[1.5040000000000002, -1.642], [0.8580000000000001, 3.866]],
              "b": [-0.032999999999999995, -0.784]},
         ]},
        {"title": "每次 update 都重置了状态",
         "explanation": "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.9, -2.2], [0.55, 2.6]],
              "b": [-0.05, -0.9]},
             # 第 2 次更新之后
             {"W": [[0.7, -2.1], [0.45000000000000007, 2.5500000000000003]],
              "b": [0.05, -1.1]},
             # 第 3 次更新之后
             {"W": [[0.7999999999999999, -2.15], [0.15000000000000002, 2.7500000000000004]],
              "b": [0.025, -1.2000000000000002]},
         ]},
    ],
    "Nesterov": [
        {"title": "向前看的一步用了更新后的 v（《深度学习入门》的写法）",
         "explanation": "《深度学习入门》的 Nesterov 先更新 v，再按 p -= beta² * v + (1 + beta) * lr * g 更新参数；这个式子要用更新前的 v 才与 Nesterov 等价，用更新后的 v 就多看了一步。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.756, -2.488], [0.622, 2.024]],
              "b": [-0.12200000000000003, -0.756]},
             # 第 2 次更新之后
             {"W": [[0.21679999999999988, -2.3464], [0.40359999999999996, 1.6972]],
              "b": [0.09640000000000001, -1.1928]},
             # 第 3 次更新之后
             {"W": [[0.3174399999999999, -2.49912], [-0.3591200000000001, 1.99576]],
              "b": [0.06612000000000001, -1.49824]},
         ]},
        {"title": "每次 update 都重置了状态",
         "explanation": "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.82, -2.36], [0.59, 2.28]],
              "b": [-0.09000000000000001, -0.82]},
             # 第 2 次更新之后
             {"W": [[0.4599999999999999, -2.1799999999999997], [0.4099999999999999, 2.19]],
              "b": [0.09000000000000001, -1.18]},
             # 第 3 次更新之后
             {"W": [[0.6399999999999999, -2.2699999999999996], [-0.13000000000000012, 2.55]],
              "b": [0.045000000000000005, -1.3599999999999999]},
         ]},
    ],
    "Adam": [
        {"title": "缺少偏差修正",
         "explanation": "直接用 v 和 u 更新参数；v、u 从 0 开始，前几步偏小，要除以 1 - beta^t 修正。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.938693139936569, -2.062261118482988], [0.5594834871519755, 2.9372505249544423]],
              "b": [-0.05948348715197548, -0.938693139936569]},
             # 第 2 次更新之后
             {"W": [[0.8598199004999493, -2.0796970740814884], [0.5261501538186422, 2.8766132688733888]],
              "b": [-0.026150153818642156, -0.9724959568379774]},
             # 第 3 次更新之后
             {"W": [[0.8265548419973687, -2.10883898959392], [0.4575862864613903, 2.862077897806502]],
              "b": [-0.013056713687537407, -1.0250762106001208]},
         ]},
        {"title": "t 在第一次 update 时为 0",
         "explanation": "t 在 update 结束时才加 1（或没有加 1），第一次 update 中 1 - beta^t = 0，出现除以 0。",
         "params": [
             # 第 1 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
             # 第 2 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
             # 第 3 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
         ]},
        {"title": "偏差修正中的 t 多加了 1",
         "explanation": "偏差修正用了 t + 1，第一次 update 时应为 t = 1。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.9244631549322693, -2.0760538834044073], [0.5745235754289384, 2.923684934024757]],
              "b": [-0.07452357542893834, -0.9244631549322693]},
             # 第 2 次更新之后
             {"W": [[0.8397527035615113, -2.0947842579246427], [0.5384851288665777, 2.8587446997318255]],
              "b": [-0.038485128866577685, -0.9607676340911655]},
             # 第 3 次更新之后
             {"W": [[0.8065270201672962, -2.123909302331393], [0.47010372180592364, 2.844261725994933]],
              "b": [-0.025324813713191476, -1.013285649778796]},
         ]},
        {"title": "Adam 论文第 2 节的“更高效的顺序”（ε̂ 写法，《深度学习入门》也这样写）",
         "explanation": "这是 Kingma 与 Ba 论文中的写法：lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)，再除以 sqrt(u) + epsilon，其中的 epsilon 是论文的 ε̂，相当于课文公式中的 epsilon * sqrt(1 - beta2^t)，前几步的步长与课文的公式不同。",
         "published": True,
         "params": [
             # 第 1 次更新之后
             {"W": [[0.9030653430031715, -2.0984434720379253], [0.5940516512848024, 2.9007843684380696]],
              "b": [-0.09405165128480246, -0.9030653430031715]},
             # 第 2 次更新之后
             {"W": [[0.8075652096548626, -2.119555018826238], [0.553691475881648, 2.8273644596961502]],
              "b": [-0.05369147588164807, -0.9439939715810183]},
             # 第 3 次更新之后
             {"W": [[0.7720795310340907, -2.1506423126660374], [0.48055060460231674, 2.811858775066941]],
              "b": [-0.03972397877062823, -1.0000842377880448]},
         ]},
        {"title": "没有使用 epsilon 参数（写死了 1e-8）",
         "explanation": "分母里写死了常数 1e-8，而不是构造时传入的 self.epsilon。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.900000001, -2.0999999995], [0.599999998, 2.90000000025]],
              "b": [-0.09999999800000003, -0.900000001]},
             # 第 2 次更新之后
             {"W": [[0.8031355806356041, -2.121422818926224], [0.5584866752451909, 2.825973502079739]],
              "b": [-0.05848667524519089, -0.9415133240133126]},
             # 第 3 次更新之后
             {"W": [[0.7671674498568797, -2.152979304582417], [0.48461811553289796, 2.810349536188266]],
              "b": [-0.04410995950631184, -0.9983661758893607]},
         ]},
        {"title": "没有使用 epsilon 参数（写死了 1e-7）",
         "explanation": "分母里写死了常数 1e-7，而不是构造时传入的 self.epsilon。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.900000009999999, -2.099999995], [0.599999980000004, 2.9000000025]],
              "b": [-0.09999998000000401, -0.900000009999999]},
             # 第 2 次更新之后
             {"W": [[0.8031355950641741, -2.1214228131870936], [0.5584866618982555, 2.8259735067290563]],
              "b": [-0.058486661898255445, -0.941513330686781]},
             # 第 3 次更新之后
             {"W": [[0.767167466576562, -2.1529792966118553], [0.48461810562924246, 2.8103495413959814]],
              "b": [-0.044109948132815865, -0.9983661789413938]},
         ]},
        {"title": "每次 update 都重置了状态",
         "explanation": "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.900990099009901, -2.099502487562189], [0.5980392156862745, 2.9002493765586035]],
              "b": [-0.09803921568627451, -0.900990099009901]},
             # 第 2 次更新之后
             {"W": [[0.8249362156054936, -2.023965642494458], [0.5225023706185438, 2.825725801129665]],
              "b": [-0.022502370618543738, -0.9770439824143085]},
             # 第 3 次更新之后
             {"W": [[0.8913110787391172, -2.0892826659559], [0.4554030374788837, 2.8926425381531655]],
              "b": [-0.08580174503862893, -1.043418845547932]},
         ]},
    ],
    "AdaBelief": [
        {"title": "AdaBelief 论文算法 2 的写法（s 中加 ε）",
         "explanation": "这是 AdaBelief 论文（Zhuang 等，2020）算法 2 和作者的 adabelief-pytorch 的写法：每一步在 s 上再加 epsilon，而课文的公式中 s 只是 (g - v)² 的指数加权平均。",
         "published": True,
         "params": [
             # 第 1 次更新之后
             {"W": [[0.8850881839837461, -2.1218805701740675], [0.5961719798690417, 2.875991565173253]],
              "b": [-0.09617197986904165, -0.8850881839837461]},
             # 第 2 次更新之后
             {"W": [[0.7588776202792922, -2.1454447075274596], [0.5530937241536351, 2.7842985566068306]],
              "b": [-0.053093724153635065, -0.9315134655738883]},
             # 第 3 次更新之后
             {"W": [[0.7184438585915742, -2.1801553059702914], [0.46092876600977595, 2.7666987186980214]],
              "b": [-0.03905223304038407, -0.9975278803825832]},
         ]},
        {"title": "t 在第一次 update 时为 0",
         "explanation": "t 在 update 结束时才加 1（或没有加 1），第一次 update 中 1 - beta^t = 0，出现除以 0。",
         "params": [
             # 第 1 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
             # 第 2 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
             # 第 3 次更新之后
             {"W": [[np.nan, np.nan], [np.nan, np.nan]],
              "b": [np.nan, np.nan]},
         ]},
        {"title": "每次 update 都重置了状态",
         "explanation": "状态在每次调用 update 时都重新创建为全 0，上一步积累的信息丢失了。",
         "params": [
             # 第 1 次更新之后
             {"W": [[0.8765432098765432, -2.124223602484472], [0.6219512195121951, 2.8753894080996885]],
              "b": [-0.12195121951219512, -0.8765432098765432]},
             # 第 2 次更新之后
             {"W": [[0.7816382581490307, -2.0301224109703924], [0.5278500279981156, 2.7828555745050014]],
              "b": [-0.027850027998115617, -0.9714481616040558]},
             # 第 3 次更新之后
             {"W": [[0.8642722629995698, -2.111123221016354], [0.4440901396374819, 2.866331125483848]],
              "b": [-0.10577075667854399, -1.054082166454595]},
         ]},
    ],
}

# ---- 以下由课程的关系拟合代码生成（与隐藏测试所用的相同），请勿修改 ----
# The smallest "largest value" of an array that scales the tolerance: an array of values
# that cancel to about 0 (a sum over the wrong axis of a softmax gradient) compares with
# rounding noise in mind; arrays of the checks' inputs are far above these.
SCALE_FLOOR = {np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-6}
# How closely the factors fitted on two cases must agree to be one constant, per dtype.
FACTOR_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}
POWERS = (-1, 1, -2, 2, -0.5, 0.5)
# A constant factor this close to 1 is no slip a student writes (a near miss): not named.
NEAR_ONE = 1e-3
RELATION_KINDS = ("dtype", "shape", "transpose", "summed", "scale", "piecewise", "without", "shift")

# The named numbers of a case: name -> (how a message writes it, what it is).
NAMED = {"N": ("N", "批大小"), "alpha": ("alpha", "LeakyReLU 在 x <= 0 一侧的斜率"),
         "weight_init_std": ("weight_init_std", "权重的标准差参数")}
# What to look at when a quantity is exactly the correct value times a named number to a
# power: (name, power) -> advice.
ADVICE = {
    ("N", -1): "不要除以批大小（损失已经对批取过平均，反向传播时各样本的梯度直接相加）。",
    ("N", 1): "多乘了批大小。",
    ("weight_init_std", -1): "权重没有乘以 weight_init_std。",
    ("weight_init_std", 1): "weight_init_std 乘了两次。",
    ("weight_init_std", -0.5): "乘的是 weight_init_std 的平方根，而不是 weight_init_std 本身。",
    ("alpha", 1): "多乘了 alpha。",
    ("alpha", -1): "在不该乘 alpha 的地方乘了 alpha，或少乘了一次。",
}


def largest_difference(actual, expected, rtol, scale=None):
    """The one comparison of numbers in the checks: None when actual is within rtol * scale
    of expected elementwise, else the largest |actual - expected|, which is inf when either
    side holds a NaN or inf (a non-finite number equals nothing, not even NaN).

    actual, expected: arrays of the same shape, or numbers. scale defaults to
    |expected| + max|expected| (elementwise; max|expected| at least SCALE_FLOOR of
    expected's dtype): rounding differences of an equivalent computation are far below
    rtol of the array's largest value.
    """
    floor = SCALE_FLOOR.get(np.asarray(expected).dtype, 0.0)
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return float("inf")
    if scale is None:
        scale = np.abs(e) + max(np.max(np.abs(e), initial=0.0), floor)
    error = np.abs(a - e)
    if np.all(error <= rtol * scale):
        return None
    return float(np.max(error))


@dataclass
class Leaf:
    """One case of a quantity: S the student's array, R the correct one (any shape); named
    numbers of the case; region (bool, R's shape): where the layer's input x > 0; factor
    (R's shape): the upstream gradient dout; bias ((M,)): b, for an output of shape (N, M);
    summand: the array whose sum over axis 0 is R (db: dout)."""
    S: object
    R: np.ndarray
    named: dict = field(default_factory=dict)
    region: np.ndarray = None
    factor: np.ndarray = None
    bias: np.ndarray = None
    summand: np.ndarray = None


@dataclass(frozen=True)
class Fit:
    """A relation that holds on every leaf: kind (RELATION_KINDS), detail (a short stable
    text: "1/N", "x<=0:×0", "dtype=float64"), fact (Chinese: what the quantity is, in terms
    of the correct value) and advice (Chinese: what to look at)."""
    kind: str
    detail: str
    fact: str
    advice: str = ""


def close(actual, expected, rtol):
    """actual equals expected (same shape) to rtol of expected's dtype scale."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return actual.shape == expected.shape and largest_difference(actual, expected, rtol) is None


def _number(value):
    """A short decimal for a message: 0.1, 1/3 as 0.333, -1."""
    return f"{value:.3g}"


def _factor(S, R):
    """The least-squares k of S ≈ k·R (float64), None when R is 0."""
    S, R = np.asarray(S, np.float64).ravel(), np.asarray(R, np.float64).ravel()
    norm = float(R @ R)
    return None if norm == 0 else float(S @ R) / norm


def _agree(values, dtype_rtol):
    """The values (floats) are one constant to dtype_rtol."""
    first = values[0]
    return all(abs(v - first) <= dtype_rtol * max(abs(first), 1e-12) for v in values)


def _same_arrays(leaves):
    """Every S a float array of R's shape (its dtype may differ: a backward that returns
    float64 because it never multiplied by dout is named by what it computes)."""
    return all(isinstance(leaf.S, np.ndarray) and leaf.S.shape == leaf.R.shape and leaf.S.dtype.kind == "f"
               for leaf in leaves)


def _fit_dtype(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if all(leaf.S.dtype == leaf.R.dtype for leaf in leaves):
        return None
    if not all(leaf.S.dtype.kind == "f" and close(leaf.S.astype(leaf.R.dtype), leaf.R, rtol(leaf.R.dtype))
               for leaf in leaves):
        return None
    dtypes = sorted({leaf.S.dtype.name for leaf in leaves})
    if len(dtypes) == 1:
        return Fit("dtype", f"dtype={dtypes[0]}", f"数值正确，但 dtype 总是 {dtypes[0]}",
                   "输入是什么 dtype，结果就应该是什么 dtype：检查是否混入了 float64 的数组或常数（如 np.ones、np.zeros 默认 float64）。")
    return Fit("dtype", "dtype", "数值正确，但 dtype 与输入不一致", "输入是什么 dtype，结果就应该是什么 dtype。")


def _fit_shape(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.S.size == leaf.R.size and leaf.S.dtype == leaf.R.dtype
               for leaf in leaves):
        return None
    if all(leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if not all(close(leaf.S.reshape(leaf.R.shape), leaf.R, rtol(leaf.R.dtype)) for leaf in leaves):
        return None
    wrong = next(leaf for leaf in leaves if leaf.S.shape != leaf.R.shape)
    return Fit("shape", "shape", f"数值正确，但形状是 {wrong.S.shape}，应为 {wrong.R.shape}",
               "检查 reshape（是否还原成了输入的形状）和求和时的 keepdims。")


def _fit_transpose(leaves, rtol):
    if not all(isinstance(leaf.S, np.ndarray) and leaf.R.ndim == 2 and leaf.S.shape == leaf.R.T.shape
               and leaf.S.dtype == leaf.R.dtype for leaf in leaves):
        return None
    if all(leaf.S.shape == leaf.R.shape for leaf in leaves):
        return None
    if not all(close(leaf.S, leaf.R.T, rtol(leaf.R.dtype)) for leaf in leaves):
        return None
    wrong = next(leaf for leaf in leaves if leaf.S.shape != leaf.R.shape)
    return Fit("transpose", "transpose", f"恰好是正确值的转置（形状 {wrong.S.shape}，应为 {wrong.R.shape}）",
               "检查矩阵乘法中两个因子的顺序和转置。")


def _fit_summed(leaves, rtol):
    """S (an array, or a number: a sum over all) is a sum of the summand over another axis."""
    if any(leaf.summand is None or not isinstance(leaf.S, (np.ndarray, np.floating, float)) for leaf in leaves):
        return None
    if all(np.shape(leaf.S) == leaf.R.shape for leaf in leaves):
        return None
    ndim = leaves[0].summand.ndim
    for axis in [*range(1, ndim), None]:
        if all(close(np.asarray(leaf.S, np.float64), leaf.summand.astype(np.float64).sum(axis=axis),
                     rtol(leaf.R.dtype)) for leaf in leaves):
            if axis is None:
                return Fit("summed", "all", "恰好是所有元素之和（一个数）",
                           "只沿批维求和：axis=0，得到与 b 同形状的数组。")
            return Fit("summed", f"axis={axis}", f"恰好是沿 axis={axis} 求和的结果",
                       "应沿批维（axis=0）求和，得到与 b 同形状的数组。")
    return None


def _describe_factor(factors, leaves, dtype_rtol, any_constant):
    """(detail, fact, advice) of S = k_i·R on the leaves, or None: a named number's power
    (times 1 or -1), -1 or 0; then, with any_constant, one constant, else a constant times a
    named number's power."""
    named = [name for name in NAMED if all(name in leaf.named for leaf in leaves)]
    candidates = []
    for name in named:
        for power in POWERS:
            ratios = [k / float(leaf.named[name]) ** power for k, leaf in zip(factors, leaves)]
            if _agree(ratios, dtype_rtol):
                candidates.append((name, power, ratios[0]))
    for name, power, c in candidates:
        for sign in (1.0, -1.0):
            if abs(c - sign) <= dtype_rtol:
                symbol, meaning = NAMED[name]
                text = symbol if power == 1 else f"1/{symbol}" if power == -1 else f"{symbol}^{power:g}"
                detail = ("-" if sign < 0 else "") + (name if power == 1 else f"1/{name}" if power == -1
                                                      else f"{name}^{power:g}")
                value = float(leaves[0].named[name])
                fact = (f"恰好是正确值的 {'-' if sign < 0 else ''}{text} 倍（{symbol} 是{meaning}，"
                        f"这里 {symbol} = {_number(value)}）")
                advice = ("符号也反了。" if sign < 0 else "") + ADVICE.get((name, power), "")
                return detail, fact, advice
    if _agree(factors, dtype_rtol):
        k = factors[0]
        if abs(k + 1) <= dtype_rtol:
            return "-1", "恰好是正确值的相反数", "检查符号：减号写成了加号，或少了一个负号。"
        if abs(k) <= dtype_rtol:
            return "×0", "全部为 0", "这个值没有被计算出来（或被乘以了 0）。"
    if not any_constant:
        return None
    if _agree(factors, dtype_rtol) and abs(factors[0] - 1) > NEAR_ONE:
        return f"×{factors[0]:.3g}", f"恰好是正确值的 {_number(factors[0])} 倍", "检查公式中的常数系数。"
    for name, power, c in candidates:
        symbol, meaning = NAMED[name]
        if power == -1:
            return (f"×{_number(c)}/{name}", f"恰好是正确值乘以 {_number(c)}/{symbol}",
                    f"这里用的是常数 {_number(c)}，而不是 {symbol}（{meaning}）。")
        return (f"×{_number(c)}·{name}^{power:g}", f"恰好是正确值的 {_number(c)}·{symbol}^{power:g} 倍",
                f"检查 {symbol}（{meaning}）的用法和公式中的常数。")
    return None


def _fit_scale(leaves, rtol, any_constant=False):
    """S = k·R with k a named number's power, -1 or 0 (any_constant: any constant, or a
    constant times a named number's power: tried last, after the relations that say more)."""
    if not _same_arrays(leaves):
        return None
    factors = []
    for leaf in leaves:
        k = _factor(leaf.S, leaf.R)
        if k is None or not close(leaf.S, (k * leaf.R.astype(np.float64)).astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
        factors.append(k)
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves)
    if all(abs(k - 1) <= dtype_rtol for k in factors):
        return None
    described = _describe_factor(factors, leaves, dtype_rtol, any_constant)
    return Fit("scale", *described) if described else None


def _fit_any_scale(leaves, rtol):
    return _fit_scale(leaves, rtol, any_constant=True)


def _fit_piecewise(leaves, rtol):
    if not _same_arrays(leaves) or any(leaf.region is None or leaf.region.shape != leaf.R.shape for leaf in leaves):
        return None
    sides = {True: [], False: []}
    for leaf in leaves:
        expected = np.empty(leaf.R.shape, np.float64)
        for side in (True, False):
            where = leaf.region == side
            k = _factor(leaf.S[where], leaf.R[where]) if np.any(where) else None
            if k is None:
                return None
            sides[side].append(k)
            expected[where] = k * leaf.R[where].astype(np.float64)
        if not close(leaf.S, expected.astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves)
    if not (_agree(sides[True], dtype_rtol) and _agree(sides[False], dtype_rtol)):
        return None
    up, down = sides[True][0], sides[False][0]
    if abs(up - down) <= dtype_rtol:
        return None  # one factor everywhere: a scale
    one = lambda k: abs(k - 1) <= dtype_rtol  # noqa: E731
    alpha = leaves[0].named.get("alpha")
    detail = f"x>0:×{_number(up)},x<=0:×{_number(down)}"
    if one(up) and abs(down) <= dtype_rtol:
        return Fit("piecewise", detail, "在 x > 0 处正确，x <= 0 处却是 0（写成了 ReLU）",
                   f"x <= 0 处应乘以 alpha = {_number(alpha)}，而不是 0。" if alpha else "x <= 0 处不应为 0。")
    if one(up) and alpha:
        slope = down * alpha
        return Fit("piecewise", detail, f"在 x > 0 处正确，x <= 0 处的斜率是 {_number(slope)}，而 alpha = {_number(alpha)}",
                   "检查 x <= 0 一侧乘的系数：应是 self.alpha。")
    if alpha and abs(up - alpha) <= dtype_rtol * 10 and abs(down * alpha - 1) <= dtype_rtol * 10:
        return Fit("piecewise", detail, "把 alpha 乘在了 x > 0 的一侧，x <= 0 的一侧反而没有乘",
                   "检查掩码的方向：x <= 0 的位置乘 alpha。")
    if one(down):
        return Fit("piecewise", detail, f"在 x <= 0 处正确，x > 0 处却是正确值的 {_number(up)} 倍",
                   "x > 0 处应原样通过（斜率 1）。")
    return Fit("piecewise", detail, f"在 x > 0 处是正确值的 {_number(up)} 倍，x <= 0 处是 {_number(down)} 倍",
               "检查两侧各乘的系数和掩码的方向。")


def _fit_without(leaves, rtol):
    if not _same_arrays(leaves) or any(leaf.factor is None or leaf.factor.shape != leaf.R.shape for leaf in leaves):
        return None
    if not all(close((leaf.S.astype(np.float64) * leaf.factor).astype(leaf.R.dtype), leaf.R, rtol(leaf.R.dtype))
               for leaf in leaves):
        return None
    return Fit("without", "without dout", "恰好是正确值除以 dout（没有乘上游传来的梯度 dout）",
               "backward 的结果应是局部导数乘以 dout（链式法则）。")


def _fit_shift(leaves, rtol):
    if not _same_arrays(leaves):
        return None
    dtype_rtol = max(FACTOR_RTOL.get(leaf.R.dtype, 1e-8) for leaf in leaves) * 10
    if all(leaf.bias is not None and leaf.R.ndim == 2 and leaf.bias.shape == leaf.R.shape[1:] for leaf in leaves):
        ks = []
        for leaf in leaves:
            d = leaf.S.astype(np.float64) - leaf.R
            k = _factor(d.mean(axis=0), leaf.bias)
            if k is None or not close(leaf.S, (leaf.R + k * leaf.bias.astype(np.float64)).astype(leaf.R.dtype),
                                      rtol(leaf.R.dtype)):
                break
            ks.append(k)
        else:
            if _agree(ks, dtype_rtol) and abs(ks[0]) > dtype_rtol:
                k = ks[0]
                if abs(k + 1) <= dtype_rtol:
                    return Fit("shift", "-b", "每一行都恰好少加了偏置 b", "输出应为 x·W + b：加上 self.b。")
                if abs(k - 1) <= dtype_rtol:
                    return Fit("shift", "+b", "每一行都恰好多了一个偏置 b（b 加了两次）", "输出应为 x·W + b，b 只加一次。")
                return Fit("shift", f"{_number(k)}·b", f"每一行都恰好差了 {_number(k)}·b", "检查偏置 b 的系数和符号。")
    shifts = []
    for leaf in leaves:
        c = float(np.mean(leaf.S.astype(np.float64) - leaf.R))
        if not close(leaf.S, (leaf.R + c).astype(leaf.R.dtype), rtol(leaf.R.dtype)):
            return None
        shifts.append(c)
    if not _agree(shifts, dtype_rtol) or abs(shifts[0]) <= dtype_rtol:
        return None
    c = shifts[0]
    return Fit("shift", f"{c:+.3g}", f"每个元素都恰好{'多' if c > 0 else '少'}了 {_number(abs(c))}",
               "检查是否多加（或少加）了一个常数，例如用 np.ones 代替了 np.zeros。")


# In this order: on the checks' random cases at most one holds; on a visible test's single
# case of simple numbers the one that says most comes first.
_FITS = (_fit_dtype, _fit_shape, _fit_transpose, _fit_summed, _fit_scale, _fit_piecewise, _fit_without, _fit_shift,
         _fit_any_scale)


def fit(leaves, rtol):
    """The first relation (a Fit) that holds on every leaf, or None. rtol(dtype) -> the
    relative tolerance of the comparison for arrays of that dtype."""
    if not leaves:
        return None
    for fitter in _FITS:
        found = fitter(leaves, rtol)
        if found is not None:
            return found
    return None
# ---- 关系拟合代码到此为止 ----


# ---------------------------------------------------------------------------------------
# 辅助函数
# ---------------------------------------------------------------------------------------

class _Failure(AssertionError):
    """本文件的检查发现的问题（你的代码自己抛出的异常不是这一类）。"""


class TestFailed(AssertionError):
    """一个可见测试没有通过。在 Jupyter 中只显示你调用测试的那一行和说明（IPython 用
    _render_traceback_ 显示异常），不显示本文件内部的调用栈。"""

    def __init__(self, message, call=""):
        super().__init__(message)
        self.call = call

    def _render_traceback_(self):
        lines = ["\x1b[0;31m测试没有通过\x1b[0m"]
        if self.call:
            lines.append("你的调用：" + self.call)
        return lines + ["AssertionError: " + str(self)]


TestFailed.__name__ = "AssertionError"  # Jupyter 和 Validate 显示的错误类型名，与普通的断言失败相同


# pragma: no mutate start （这个装饰器只在导入本文件时运行）
def _messages_first(test):
    """让失败的测试只显示你的调用和说明，不显示本文件内部的调用栈；
    你的代码自己抛出的异常照常显示完整的调用栈，方便找到出错的那一行。"""
    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except _Failure as failure:
            caller = sys._getframe(1)
            call = linecache.getline(caller.f_code.co_filename, caller.f_lineno).strip()
            # 测试没有通过：原因见下面 AssertionError 后面的说明。
            raise TestFailed(str(failure), call) from None
    return run
# pragma: no mutate end


def _index_text(index):
    return "[" + ", ".join(str(i) for i in index) + "]" if index else ""


def _array_text(a):
    return np.array2string(np.asarray(a), precision=10, floatmode="maxprec", suppress_small=False)


def _with_hint(message, hint):
    return message + ("\n提示：" + hint if hint else "")


def _check_array(what, got, expected, dtype=np.float64, hint=None, shape_hint=None):
    """got 与 expected 的形状、dtype、数值都一致时什么也不做，否则抛出 AssertionError。"""
    expected = np.asarray(expected, dtype=dtype)
    if not isinstance(got, np.ndarray):
        raise _Failure(_with_hint(
            "{} 应是 numpy 数组，得到 {}".format(what, type(got).__name__), shape_hint or hint))
    if got.shape != expected.shape:
        raise _Failure(_with_hint(
            "{} 的形状不对：期望 {}，得到 {}".format(what, expected.shape, got.shape), shape_hint or hint))
    rtol, atol = TOLERANCE[expected.dtype]
    try:
        wrong = ~np.isclose(got.astype(np.float64), expected, rtol=rtol, atol=atol)
    except (TypeError, ValueError):
        wrong = np.ones(expected.shape, dtype=bool)
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        message = "{}{} 的数值不对：期望 {}，得到 {}".format(
            what, _index_text(index), str(expected[index]), str(got[index]))
        if not np.all(np.isfinite(got)):
            message += "（结果里有 nan 或 inf：是否除以了 0？）"
        if expected.size > 1:
            message += "\n期望的 {}：\n{}\n你的 {}：\n{}".format(
                what, _array_text(expected), what, _array_text(got))
        raise _Failure(_with_hint(message, hint))
    if got.dtype != expected.dtype:
        raise _Failure(
            "{} 的数值正确，但 dtype 不对：期望 {}，得到 {}（输入是 {} 时结果也应是 {}，不要在计算中换成别的 dtype）"
            .format(what, expected.dtype, got.dtype, expected.dtype, expected.dtype))


def _relation_hint(got, expected, dtype, hint=None, **context):
    """got 的数值与 expected 不同时：两者之间恰好成立的一种简单关系（乘了一个数、斜率不同、转置、
    少加了偏置……，由本测试自己的输入算出）放在提示的最前面；没有这样的关系时就是 hint。
    context：Leaf 的 named、region、factor、bias。"""
    expected = np.asarray(expected, dtype=dtype)
    if not isinstance(got, np.ndarray) or got.dtype.kind != "f":
        return hint
    if got.shape == expected.shape and np.allclose(got, expected, *TOLERANCE[expected.dtype]):
        return hint
    found = fit([Leaf(got, expected, **context)], lambda d: TOLERANCE[np.dtype(d)][0])
    if found is None:
        return hint
    text = "与正确结果对照：它{}：{}".format(found.fact, found.advice)
    return text + ("\n" + hint if hint else "")


def _check_scalar(what, got, expected, hint=None):
    if np.ndim(got) != 0:
        raise _Failure(_with_hint("{} 应是一个标量，得到形状为 {} 的数组".format(
            what, np.shape(got)), hint))
    rtol, atol = TOLERANCE[np.dtype(np.float64)]
    if not np.isclose(float(got), expected, rtol=rtol, atol=atol):
        raise _Failure(_with_hint("{} 的数值不对：期望 {!r}，得到 {!r}".format(
            what, expected, float(got)), hint))


def _check_unchanged(what, array, original):
    if not np.array_equal(array, original):
        raise _Failure("{} 被修改了：请不要原地修改传入的数组（需要时先 .copy()）".format(what))


def _passed(name):
    print("{}：全部通过 ✓".format(name))


# ---------------------------------------------------------------------------------------
# initialize_parameters
# ---------------------------------------------------------------------------------------

_INIT_VALUE_HINT = ("W 的数值与期望不符：请在 np.random.seed(1) 之后按 W1、W2、W3 的顺序各调用一次 "
                    "np.random.randn(行数, 列数)，再乘以参数 weight_init_std（不要写死 0.01），"
                    "不要再次调用 np.random.seed。")


def _check_param_dict(params, shapes, dtype, dtype_hint):
    if not isinstance(params, dict):
        raise _Failure("initialize_parameters 应返回 dict，得到 {}".format(type(params).__name__))
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise _Failure("返回的 params 缺少键 {}（应有 {}）".format(missing, list(PARAM_KEYS)))
    for key in PARAM_KEYS:
        value = params[key]
        if not isinstance(value, np.ndarray):
            raise _Failure("params['{}'] 应是 numpy 数组，得到 {}".format(key, type(value).__name__))
        if value.shape != shapes[key]:
            raise _Failure("params['{}'] 的形状不对：期望 {}，得到 {}".format(
                key, shapes[key], value.shape))
        if value.dtype != np.dtype(dtype):
            raise _Failure("params['{}'] 的 dtype 不对：期望 {}，得到 {}。{}".format(
                key, np.dtype(dtype), value.dtype, dtype_hint))
    for key in ("b1", "b2", "b3"):
        if np.any(params[key] != 0):
            raise _Failure("params['{}'] 应全为 0（用 np.zeros）".format(key))


@_messages_first
def test_initialize_parameters(initialize_parameters):
    """initialize_parameters：键、形状、dtype、全 0 的偏置和固定种子下的权重。"""
    input_size, hidden_size, output_size, std = INIT_SMALL_ARGS
    params = initialize_parameters(input_size, hidden_size, output_size, std, dtype=np.float64)
    _check_param_dict(params, INIT_SMALL_SHAPES, np.float64,
                      "dtype=np.float64 时所有参数都应是 float64：请用 .astype(dtype)。")
    expected = {"W1": INIT_SMALL_W1, "W2": INIT_SMALL_W2, "W3": INIT_SMALL_W3}
    for key in ("W1", "W2", "W3"):
        what = "initialize_parameters{}['{}']".format(INIT_SMALL_ARGS, key)
        _check_array(what, params[key], expected[key], np.float64,
                     hint=_relation_hint(params[key], expected[key], np.float64, _INIT_VALUE_HINT,
                                         named={"weight_init_std": std}))

    params = initialize_parameters(*INIT_FULL_ARGS)
    _check_param_dict(params, INIT_FULL_SHAPES, np.float32,
                      "dtype 的默认值是 np.float32：每个数组都要转换成参数 dtype（.astype(dtype) 或 "
                      "np.zeros(..., dtype=dtype)）。")
    for (key, index), value in INIT_FULL_SAMPLES.items():
        what = "initialize_parameters{}['{}']".format(INIT_FULL_ARGS, key)
        got = params[key][index]
        rtol, atol = TOLERANCE[np.dtype(np.float32)]
        if not np.isclose(got, np.float32(value), rtol=rtol, atol=atol):
            raise _Failure(_with_hint("{}{} 的数值不对：期望 {}，得到 {}".format(
                what, _index_text(index), str(np.float32(value)), str(got)), _INIT_VALUE_HINT))
    _passed("test_initialize_parameters")


# ---------------------------------------------------------------------------------------
# LeakyRelu
# ---------------------------------------------------------------------------------------

_LEAKY_RELU_HINT = ("forward：x > 0 时输出 x，x <= 0 时输出 alpha*x；backward：dout 乘以同一位置的斜率"
                    "（x > 0 处为 1，x <= 0 处为 alpha），x 取 forward 时的输入。")


def _run_leaky_relu(LeakyRelu, x_list, dout_list, out_expected, dx_expected, dtype, label):
    x = np.array(x_list, dtype=dtype)
    dout = np.array(dout_list, dtype=dtype)
    x_before, dout_before = x.copy(), dout.copy()
    context = {"region": x > 0, "named": {"alpha": 0.1}}
    layer = LeakyRelu()
    out = layer.forward(x)
    _check_unchanged("输入 x", x, x_before)
    _check_array("forward(x) 的输出{}".format(label), out, out_expected, dtype,
                 hint=_relation_hint(out, out_expected, dtype, _LEAKY_RELU_HINT, **context))
    dx = layer.backward(dout)
    _check_unchanged("dout", dout, dout_before)
    _check_array("backward(dout) 的输出 dx{}".format(label), dx, dx_expected, dtype,
                 hint=_relation_hint(dx, dx_expected, dtype, _LEAKY_RELU_HINT, factor=dout, **context))


@_messages_first
def test_leaky_relu(LeakyRelu):
    """LeakyRelu：float64 和 float32 输入上的 forward 与 backward；输入不能被修改。"""
    _run_leaky_relu(LeakyRelu, LEAKY_RELU_X, LEAKY_RELU_DOUT, LEAKY_RELU_OUT, LEAKY_RELU_DX,
                    np.float64, "")
    _run_leaky_relu(LeakyRelu, LEAKY_RELU_X_F32, LEAKY_RELU_DOUT_F32, LEAKY_RELU_OUT_F32,
                    LEAKY_RELU_DX_F32, np.float32, "（float32 输入）")
    _passed("test_leaky_relu")


# ---------------------------------------------------------------------------------------
# Affine
# ---------------------------------------------------------------------------------------

_AFFINE_OUT_HINT = "out = x·W + b：x 的形状是 (N, D)，W 是 (D, M)，b 是 (M,)，out 是 (N, M)。"
_AFFINE_DW_HINT = "dW 的形状与 W 相同 (D, M)：∂L/∂W = Xᵀ·∂L/∂Y（x 是 forward 时保存的 self.x）。"
_AFFINE_DB_HINT = "db 的形状与 b 相同 (M,)：把 dout 沿 batch 维（axis=0）求和。"


def _run_affine(Affine, W_list, b_list, x_list, dout_list, expected, dtype, label):
    W = np.array(W_list, dtype=dtype)
    b = np.array(b_list, dtype=dtype)
    x = np.array(x_list, dtype=dtype)
    dout = np.array(dout_list, dtype=dtype)
    W_before, b_before, x_before, dout_before = W.copy(), b.copy(), x.copy(), dout.copy()
    out_expected, dx_expected, dW_expected, db_expected = expected
    layer = Affine(W, b)
    out = layer.forward(x)
    _check_unchanged("输入 x", x, x_before)
    named = {"N": len(x)}
    _check_array("forward(x) 的输出{}".format(label), out, out_expected, dtype,
                 hint=_relation_hint(out, out_expected, dtype, _AFFINE_OUT_HINT, named=named, bias=b))
    dx = layer.backward(dout)
    _check_unchanged("dout", dout, dout_before)
    _check_unchanged("W", W, W_before)
    _check_unchanged("b", b, b_before)
    _check_array("backward(dout) 返回的 dx{}".format(label), dx, dx_expected, dtype,
                 hint=_relation_hint(dx, dx_expected, dtype, named=named))
    _check_array("self.dW{}".format(label), layer.dW, dW_expected, dtype,
                 hint=_relation_hint(layer.dW, dW_expected, dtype, _AFFINE_DW_HINT, named=named))
    _check_array("self.db{}".format(label), layer.db, db_expected, dtype,
                 hint=_relation_hint(layer.db, db_expected, dtype, _AFFINE_DB_HINT, named=named, summand=dout))
    return out


@_messages_first
def test_affine(Affine):
    """Affine：四种情形（其中一种输入是三维的，一种是 float32）下的 forward、dx、dW 和 db。"""
    out = _run_affine(Affine, AFFINE_W_ONES, AFFINE_B_ONES, AFFINE_X_ONES, AFFINE_DOUT_ONES,
                      (AFFINE_OUT_ONES, AFFINE_DX_ONES, AFFINE_DW_ONES, AFFINE_DB_ONES),
                      np.float64, "（W、b、x 全为 1）")
    _check_scalar("np.sum(forward(x))（W、b、x 全为 1）", np.sum(out), AFFINE_SUM_ONES, _AFFINE_OUT_HINT)
    _run_affine(Affine, AFFINE_W, AFFINE_B, AFFINE_X, AFFINE_DOUT,
                (AFFINE_OUT, AFFINE_DX, AFFINE_DW, AFFINE_DB), np.float64, "（N=2, D=2, M=3）")
    _run_affine(Affine, AFFINE_W, AFFINE_B, np.reshape(AFFINE_X, AFFINE_X_SHAPE_3D).tolist(), AFFINE_DOUT,
                (AFFINE_OUT, np.reshape(AFFINE_DX, AFFINE_X_SHAPE_3D).tolist(), AFFINE_DW, AFFINE_DB),
                np.float64, "（x 的形状为 {}）".format(AFFINE_X_SHAPE_3D))
    _run_affine(Affine, AFFINE_W_F32, AFFINE_B_F32, AFFINE_X_F32, AFFINE_DOUT_F32,
                (AFFINE_OUT_F32, AFFINE_DX_F32, AFFINE_DW_F32, AFFINE_DB_F32), np.float32,
                "（float32，N=3, D=2, M=2）")
    _passed("test_affine")


# ---------------------------------------------------------------------------------------
# ThreeLayerNet
# ---------------------------------------------------------------------------------------

_NETWORK_NOTE = ("ThreeLayerNet 用到你的 initialize_parameters、Affine 和 LeakyRelu："
                 "请先通过前面的测试。")
_PREDICT_HINT = ("predict 应把 x 依次传过 self.layers 中的每一层（Affine1 → LeakyRelu1 → Affine2 → "
                 "LeakyRelu2 → Affine3），每层的输入是上一层 forward 的输出。" + _NETWORK_NOTE)


@_messages_first
def test_network(ThreeLayerNet):
    """ThreeLayerNet：predict（float64 和 float32）、通过 lastLayer 计算的 loss、gradient，
    以及各层是否使用 self.params 中的数组。"""
    input_size, hidden_size, output_size = NETWORK_SIZES
    net = ThreeLayerNet(input_size, hidden_size, output_size,
                        weight_init_std=NETWORK_WEIGHT_INIT_STD, dtype=np.float64)
    if not isinstance(net.params, dict):
        raise _Failure("self.params 应是 dict（键为 {}），得到 {}".format(
            "、".join(PARAM_KEYS), type(net.params).__name__))
    x = np.array(NETWORK_X)
    x_before = x.copy()
    scores = net.predict(x)
    _check_unchanged("输入 x", x, x_before)
    hint = _PREDICT_HINT
    if isinstance(scores, np.ndarray) and scores.ndim == 2 and np.allclose(scores.sum(axis=1), 1):
        hint = ("predict 的每一行加起来等于 1：predict 应返回 softmax 之前的得分，"
                "softmax 在 self.lastLayer 里计算。")
    _check_array("predict(x)", scores, NETWORK_SCORES, np.float64, hint=hint)

    for labels, name in ((NETWORK_Y, "类别索引"), (NETWORK_Y_ONEHOT, "one-hot")):
        y = np.array(labels)
        net.lastLayer.loss = None
        loss = net.loss(x, y)
        if net.lastLayer.loss is None:
            raise _Failure("loss 应调用 self.lastLayer.forward(得分, y) 计算损失"
                                 "（调用 net.loss 之后 self.lastLayer.loss 仍是 None）")
        _check_scalar("loss(x, y)（y 为{}）".format(name), loss, NETWORK_LOSS,
                      hint="loss = self.lastLayer.forward(self.predict(x), y)，"
                           "不要自己再做一次 softmax。" + _NETWORK_NOTE)

    grads = net.gradient(x, np.array(NETWORK_Y))
    if not isinstance(grads, dict):
        raise _Failure("gradient 应返回 dict（键与 params 相同），得到 {}".format(type(grads).__name__))
    for key in PARAM_KEYS:
        if key not in grads:
            raise _Failure("gradient 返回的 grads 缺少键 '{}'".format(key))
        if np.shape(grads[key]) != np.shape(net.params[key]):
            raise _Failure("grads['{}'] 的形状不对：期望 {}，得到 {}".format(
                key, np.shape(net.params[key]), np.shape(grads[key])))
    _check_array("gradient(x, y)['b1']", grads["b1"], NETWORK_GRAD_B1, np.float64,
                 hint="梯度经过所有层的 backward 传回第一层。" + _NETWORK_NOTE)

    for key in PARAM_KEYS:  # 原地改变参数，就像优化器那样
        net.params[key][...] = NETWORK_FILL[key[0]]
    _check_array("把 net.params 的数组原地填成常数（W 为 {W}，b 为 {b}）之后的 predict(x)".format(**NETWORK_FILL),
                 net.predict(x), NETWORK_SCORES_FILLED, np.float64,
                 hint="各层应直接使用 self.params 中的数组（不要复制）：优化器原地更新 "
                      "self.params 时，各层才能看到新的参数。")

    net32 = ThreeLayerNet(input_size, hidden_size, output_size, weight_init_std=NETWORK_WEIGHT_INIT_STD)
    scores32 = net32.predict(x.astype(np.float32))
    _check_array("float32 网络（dtype 取默认值）的 predict(x)", scores32, NETWORK_SCORES, np.float32,
                 hint=_PREDICT_HINT)
    _passed("test_network")


# ---------------------------------------------------------------------------------------
# 优化器
# ---------------------------------------------------------------------------------------

def _arrays(literals, dtype):
    return {key: np.array(value, dtype=dtype) for key, value in literals.items()}


def _hyper_text(hyper):
    return ", ".join("{}={}".format(key, value) for key, value in hyper.items())


def _state_hints(optimizer, case, step, params):
    """参数不对时，对照课文中的状态属性给出的提示（状态本身不计分）。对象没有的属性不算错：
    只说没有找到，用别的名字保存时可以忽略。"""
    hints = []
    names = list(case["state"]) + (["t"] if case["counter"] else [])
    missing = [name for name in names if not hasattr(optimizer, name)]
    if missing:
        hints.append("没有找到 {}（如果你用别的名字保存{}，可以忽略这一条）。".format(
            "、".join("self." + name for name in missing), "它们" if len(missing) > 1 else "它"))
    t = getattr(optimizer, "t", None)
    if case["counter"] and "t" not in missing and t != step:
        hints.append("第 {} 次 update 之后 self.t 是 {!r}，课文中是 {}：t 在每次 update 开头加 1，"
                     "第一次 update 使用 t = 1。".format(step, t, step))
    for attr in case["state"]:
        if attr in missing:
            continue
        state = getattr(optimizer, attr)
        if not isinstance(state, dict) or any(np.shape(state.get(key)) != params[key].shape for key in params):
            hints.append("self.{} 不是课文中的样子：应是与 params 键相同的 dict，每个值是与参数同形状的数组，"
                         "第一次 update 时创建为全 0。".format(attr))
    return hints


def _named_mistake(mistakes, step, params, dtype):
    """params 与某个常见错误第 step 次更新之后的参数相同时，返回说出这个错误的提示。"""
    rtol, atol = TOLERANCE[np.dtype(dtype)]
    for mistake in mistakes:
        expected = mistake["params"][step - 1]
        if all(np.allclose(params[key], np.asarray(expected[key], dtype=dtype), rtol=rtol, atol=atol,
                           equal_nan=True) for key in expected):
            if mistake.get("published"):
                return ["你的结果与一种已发表的写法相同：「{}」。{}".format(mistake["title"], mistake["explanation"])]
            return ["你的结果与一个常见错误相同：「{}」。{}".format(mistake["title"], mistake["explanation"])]
    return []


def _run_optimizer(cls, case, hyper, expected, dtype, label, mistakes=()):
    optimizer = cls(**hyper)
    params = _arrays(OPT_PARAMS0, dtype)
    originals = dict(params)  # 网络各层持有的就是这些数组
    for step, (grad_literals, step_expected) in enumerate(zip(OPT_GRADS, expected), start=1):
        grads = _arrays(grad_literals, dtype)
        optimizer.update(params, grads)
        for key in grads:
            _check_unchanged("grads['{}']".format(key), grads[key], np.array(grad_literals[key], dtype))
        for key in originals:
            if params.get(key) is not originals[key]:
                raise _Failure(
                    "参数没有原地更新：请用 params[key] -= ...（params[key] = params[key] - ... 会创建"
                    "新数组，网络各层持有的仍是旧数组，训练时网络不会变）。出问题的键：'{}'".format(key))
        rtol, atol = TOLERANCE[np.dtype(dtype)]
        for key in ("W", "b"):
            want = np.asarray(step_expected[key], dtype=dtype)
            if not np.allclose(params[key], want, rtol=rtol, atol=atol):
                hints = (_named_mistake(mistakes, step, params, dtype)
                         + _state_hints(optimizer, case, step, params) + [case["hint"]])
                _check_array("{} 第 {} 次 update 之后的 params['{}']".format(label, step, key),
                             params[key], want, dtype, hint="\n".join(hints))


def _test_optimizer(cls, name):
    case = OPTIMIZER_CASES[name]
    _run_optimizer(cls, case, case["hyper"], case["expected"], np.float64,
                   "{}({})".format(name, _hyper_text(case["hyper"])), KNOWN_MISTAKES.get(name, ()))
    _run_optimizer(cls, case, {}, case["expected_f32"], np.float32,
                   "{}()（默认超参数，float32 参数）".format(name))
    _passed("test_" + name.lower())


@_messages_first
def test_adagrad(AdaGrad):
    """AdaGrad：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(AdaGrad, "AdaGrad")


@_messages_first
def test_rmsprop(RMSprop):
    """RMSprop：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(RMSprop, "RMSprop")


@_messages_first
def test_momentum(Momentum):
    """Momentum：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(Momentum, "Momentum")


@_messages_first
def test_nesterov(Nesterov):
    """Nesterov：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(Nesterov, "Nesterov")


@_messages_first
def test_adam(Adam):
    """Adam：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(Adam, "Adam")


@_messages_first
def test_adabelief(AdaBelief):
    """AdaBelief：三次更新（float64，非默认超参数）和两次更新（float32，默认超参数）。"""
    _test_optimizer(AdaBelief, "AdaBelief")


# ---------------------------------------------------------------------------------------
# 不计分的检查：梯度检查、记住 50 个训练样本
# ---------------------------------------------------------------------------------------

_GRADIENT_HINTS = {
    "W1": "第一层的 dW：检查 Affine.backward 中的 self.dW，以及 LeakyRelu.backward 传回的梯度。",
    "b1": "第一层的 db：检查 Affine.backward 中的 self.db（沿 axis=0 求和），以及 LeakyRelu.backward。",
    "W2": "第二层的 dW：检查 Affine.backward 中的 self.dW 和它返回的 dx。",
    "b2": "第二层的 db：检查 Affine.backward 中的 self.db。",
    "W3": "最后一层的 dW：检查 Affine.backward 中的 self.dW（dW = xᵀ·dout）。",
    "b3": "最后一层的 db：检查 Affine.backward 中的 self.db（db = dout 沿 axis=0 求和）。",
}


@_messages_first
def check_gradients(analytic, numerical, tolerance=1e-6):
    """梯度检查：反向传播得到的梯度 analytic 与数值梯度 numerical（两个键相同的字典）逐个比较。

    每个键的最大相对误差 max|a-b| / max(|a|+|b|, 1e-8) 都小于 tolerance 时打印“全部通过”，
    否则抛出 AssertionError，指出误差最大的参数和可能出错的地方。
    """
    errors = {}
    for key, expected in numerical.items():
        if key not in analytic:
            raise _Failure("gradient 返回的字典缺少键 '{}'".format(key))
        got = np.asarray(analytic[key], dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            raise _Failure("grads['{}'] 的形状不对：期望 {}，得到 {}".format(key, expected.shape, got.shape))
        errors[key] = float(np.max(np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))))
    worst = max(errors, key=errors.get)
    if not errors[worst] < tolerance:
        raise _Failure(
            "梯度检查没有通过：grads['{}'] 与数值梯度的相对误差是 {:.2e}（应小于 {:.0e}）。\n"
            "各参数的相对误差：{}\n提示：{}".format(
                worst, errors[worst], tolerance,
                "，".join("{} {:.1e}".format(k, v) for k, v in errors.items()),
                _GRADIENT_HINTS.get(worst, "从最后一层往前检查每一层的 backward。")))
    _passed("check_gradients")


@_messages_first
def check_overfit(history, samples=50):
    """记住一小批训练样本：history 是 train_network 在这 samples 个样本上训练后的返回值。

    打印最后的训练准确率和损失的变化（第一次迭代的损失 -> 最后 10 次迭代的平均损失）。最后一次
    评估的训练准确率应为 100%，最后 10 次迭代的平均损失应小于第一次迭代损失的十分之一。
    """
    accuracy = history["train_acc"][-1]
    first = history["train_loss"][0]
    last = float(np.mean(history["train_loss"][-10:]))
    print("训练准确率：{:.2f}，损失：{:.3f} -> {:.4f}（最后 10 次迭代的平均）".format(accuracy, first, last))
    if accuracy < 1.0 or not last < 0.1 * first:
        change = "降到" if last < first else "没有下降，反而升到" if last > first else "停在"
        raise _Failure(
            "网络没有记住这 {} 个训练样本：训练准确率 {:.2f}，损失从 {:.3f} {} {:.4f}。"
            "参数比样本多得多的网络应当能做到 100%。\n提示：检查前向传播、反向传播和 SGD 的更新"
            "（参数要原地更新：params[key] -= ...），以及学习率和迭代次数。".format(
                samples, accuracy, first, change, last))
    _passed("check_overfit")
